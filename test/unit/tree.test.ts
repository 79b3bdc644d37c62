// The tree a newcomer reads (issue 22): files small, functions short, each package's
// tests apart by kind, one shared test support, and the query entry point free of
// any Kafka client. Each rule has its way out, written where a reader sees it: a
// file over 300 lines says "long because …" in its first lines, and a function over
// 80 lines of its own (nested functions count for themselves) says "plain wiring"
// or "long because …" just above it or in its first lines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';

const root = resolve(import.meta.dirname, '../..');
const PACKAGES = ['core', 'schemas', 'producer', 'consumer'];
const MAX_FILE_LINES = 300;
const MAX_FUNCTION_LINES = 80;
const EXCUSE = /\b(plain wiring|long because)\b/i;

/** Tracked files under `dirs` whose names end in `suffix`. */
function tracked(dirs: string[], suffix: string): string[] {
  const out = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', ...dirs], { cwd: root, encoding: 'utf8' });
  return out.split('\n').filter((f) => f.endsWith(suffix) && existsSync(join(root, f)));
}

/** The product's sources: each package's src, the local stack, the Python SDK, the build scripts (generated code aside). */
const tsSources = () =>
  tracked([...PACKAGES.map((p) => `${p}/src`), 'local', 'scripts', 'schemas/scripts'], '.ts').filter((f) => !f.includes('/generated/'));
const pySources = () => tracked(['local', 'producer/python/src'], '.py');

function fileExcused(text: string): boolean {
  return EXCUSE.test(text.split('\n').slice(0, 12).join('\n'));
}

/** Functions whose own lines (nested function bodies subtracted) pass the limit, without an excuse nearby. */
function longTsFunctions(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = text.split('\n');
  const line = (pos: number) => sf.getLineAndCharacterOfPosition(pos).line;
  const found: string[] = [];
  const ownLines = (fn: ts.Node): number => {
    let total = line(fn.getEnd()) - line(fn.getStart()) + 1;
    const subtract = (n: ts.Node) => {
      if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) total -= line(n.getEnd()) - line(n.getStart()) - 1;
      else ts.forEachChild(n, subtract);
    };
    ts.forEachChild(fn, subtract);
    return total;
  };
  const visit = (n: ts.Node) => {
    if (ts.isFunctionLike(n) && (n as ts.FunctionLikeDeclaration).body) {
      const own = ownLines(n);
      const start = line(n.getFullStart() + (n.getFullText().length - n.getFullText().trimStart().length));
      const near = lines.slice(Math.max(0, start - 4), line(n.getStart()) + 4).join('\n');
      if (own > MAX_FUNCTION_LINES && !EXCUSE.test(near)) found.push(`${file}:${line(n.getStart()) + 1} (${own} lines)`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

/** The same rule for Python, measured by Python's own parser. */
function longPyFunctions(files: string[]): string[] {
  const script = `
import ast, json, sys
out = []
for f in sys.argv[1:]:
    text = open(f, encoding="utf-8").read()
    lines = text.split("\\n")
    for n in ast.walk(ast.parse(text)):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            own = n.end_lineno - n.lineno + 1
            for c in ast.walk(n):
                if c is not n and isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    own -= c.end_lineno - c.lineno + 1
            out.append([f, n.lineno, own, "\\n".join(lines[max(0, n.lineno - 4): n.lineno + 4])])
print(json.dumps(out))`;
  const rows = JSON.parse(execFileSync('python3', ['-c', script, ...files], { cwd: root, encoding: 'utf8' })) as [string, number, number, string][];
  return rows.filter(([, , own, near]) => own > MAX_FUNCTION_LINES && !EXCUSE.test(near)).map(([f, l, own]) => `${f}:${l} (${own} lines)`);
}

test(`no source file over ${MAX_FILE_LINES} lines unless its first lines say why`, () => {
  const long = [...tsSources(), ...pySources()].filter((f) => {
    const text = readFileSync(join(root, f), 'utf8');
    return text.split('\n').length > MAX_FILE_LINES && !fileExcused(text);
  });
  assert.deepEqual(long, []);
});

test(`no function over ${MAX_FUNCTION_LINES} lines of its own unless it is plain wiring or says why`, () => {
  assert.deepEqual([...tsSources().flatMap(longTsFunctions), ...longPyFunctions(pySources())], []);
});

test('the measure itself catches a long function and a long file', () => {
  // A check that cannot fail is a defect: feed it what it must refuse.
  const body = Array.from({ length: MAX_FUNCTION_LINES + 5 }, (_, i) => `  const a${i} = ${i};`).join('\n');
  const sf = `function big() {\n${body}\n}\n`;
  const tmp = join(root, '.run', 'tree-probe.ts');
  execFileSync('mkdir', ['-p', dirname(tmp)]);
  execFileSync('sh', ['-c', `cat > '${tmp}'`], { input: sf });
  assert.equal(longTsFunctions(relative(root, tmp)).length, 1);
  execFileSync('sh', ['-c', `cat > '${tmp}'`], { input: `// plain wiring\n${sf}` });
  assert.equal(longTsFunctions(relative(root, tmp)).length, 0);
  const py = join(root, '.run', 'tree_probe.py');
  execFileSync('sh', ['-c', `cat > '${py}'`], { input: `def big():\n${Array.from({ length: 90 }, (_, i) => `    a${i} = ${i}`).join('\n')}\n` });
  assert.equal(longPyFunctions([py]).length, 1);
});

test('each package keeps its tests in unit/ and integration/, and its helpers in the one test/support', () => {
  for (const pkg of [...PACKAGES, '.']) {
    const dir = join(root, pkg, 'test');
    if (!existsSync(dir)) continue;
    const loose = readdirSync(dir, { withFileTypes: true })
      .filter((e) => (e.isFile() && e.name.endsWith('.ts')) || (e.isDirectory() && e.name === 'support' && pkg !== '.'))
      .map((e) => `${pkg}/test/${e.name}`);
    assert.deepEqual(loose, [], 'test files belong in unit/ or integration/ (or a named suite), helpers in test/support/');
  }
});

test('the query entry point (@witnesslog/consumer/query) loads no Kafka client', () => {
  // Static walk of the import graph from consumer/src/query/index.ts through relative
  // imports and the workspace packages' sources; a tool that only reads the log must
  // not pull kafkajs (or prom-client's registry of a running service) into its process.
  const seen = new Set<string>();
  const external = new Set<string>();
  const walk = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
      const spec = m[1]!;
      if (/^import\s+type\b|^export\s+type\b/.test(m[0].trim())) continue;
      if (spec.startsWith('.')) walk(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
      else if (spec.startsWith('@witnesslog/')) walk(join(root, spec.split('/')[1]!, 'src/index.ts'));
      else external.add(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'));
    }
  };
  walk(join(root, 'consumer/src/query/index.ts'));
  assert.ok(seen.size > 3, `walked ${seen.size} files`);
  assert.ok(external.has('@qdrant/js-client-rest'), 'the walk sees the Qdrant client, so it would see kafkajs');
  assert.ok(!external.has('kafkajs'), `kafkajs reached from the query entry point via: ${[...seen].map((f) => relative(root, f)).join(', ')}`);
});
