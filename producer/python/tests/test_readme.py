"""The README's FastAPI example, run as written: its requests reach the broker, the
failing one as a critical entry, and its /metrics serves the SDK's metrics."""
import importlib.util
import re

from fastapi.testclient import TestClient
from witnesslog import WitnessCodec

from conftest import BROKERS, REPO, read_topic


def test_the_fastapi_example_runs_as_written(topic, tmp_path, monkeypatch):
    readme = (REPO / "producer" / "python" / "README.md").read_text(encoding="utf-8")
    source = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "app.py").write_text(source, encoding="utf-8")
    monkeypatch.setenv("WITNESS_KAFKA_BROKERS", BROKERS)
    monkeypatch.setenv("WITNESS_TOPIC", topic)
    spec = importlib.util.spec_from_file_location("readme_app", tmp_path / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    with TestClient(module.app) as client:
        ok = client.post("/generate", json={"session_id": "s-1", "prompt": "hello"}).json()
        failed = client.post("/generate", json={"session_id": "s-1", "prompt": "please fail"}).json()
        assert ok["answer"] == "HELLO" and failed["error"] == "overloaded"
        module.witness.flush(30)
        metrics = client.get("/metrics").text
        assert "witness_producer_entries_delivered_total 2.0" in metrics
    assert module.witness.stats()["running"] is False  # the lifespan closed it

    decoded = {m["request_id"]: m for m in (WitnessCodec().decode(msg.value()) for msg in read_topic(topic, 2))}
    assert decoded[ok["request_id"]]["quality_score"] == 0.9
    assert decoded[failed["request_id"]]["error"]["code"] == "OOM"
