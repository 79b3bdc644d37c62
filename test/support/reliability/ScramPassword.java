// Sets a SCRAM-SHA-512 password through the Admin API, as kafka-configs.sh --alter
// --add-config 'SCRAM-SHA-512=[password=…]' does in docker-compose.yml's kafka-init
// (the Maven jars of the local stack have no kafka-tools, hence this). Run with Java's
// source launcher: java -cp '<kafka libs>/*' ScramPassword.java <bootstrap> <user>,
// the password on stdin so it stays off the command line.
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class ScramPassword {
  public static void main(String[] args) throws Exception {
    String password = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", args[0]))) {
      ScramCredentialInfo info = new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192);
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(args[1], info, password))).all().get();
    }
  }
}
