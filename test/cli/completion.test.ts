// The committed completion scripts in the real shells: bash and zsh driven through a pseudo-terminal
// (script(1)), as a person presses Tab, and fish through its own entry point (complete -C). Shells that
// are not installed are skipped, saying so.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const missing = (shell: string) => (has(shell) && has('script') ? false : `${shell} or script(1) is not installed`);
const TAB = '\t';

// The scripts ask `vsop __complete` (or `kubectl-vsop __complete`) for names: both on PATH, as installed.
const BINS = mkdtempSync(join(tmpdir(), 'vsop-bin-'));
after(() => rmSync(BINS, { recursive: true, force: true }));
for (const name of ['vsop', 'kubectl-vsop']) symlinkSync(join(ROOT, 'bin', 'vsop.js'), join(BINS, name));
const PATH = `${BINS}:${process.env.PATH ?? ''}`;
// A kubeconfig with a context named as EKS names them: colons, which bash takes for word breaks.
const KUBECONFIG = join(BINS, 'kubeconfig');
writeFileSync(
  KUBECONFIG,
  'apiVersion: v1\nkind: Config\ncontexts:\n- {name: kind-dev, context: {cluster: c}}\n- {name: "arn:aws:eks:eu-west-1:123456789012:cluster/prod", context: {cluster: c}}\n',
);
const ARN = 'arn:aws:eks:eu-west-1:123456789012:cluster/prod';
const KILL_LINE = '\x15'; // Ctrl-U

/**
 * Runs an interactive shell in a pseudo-terminal: `setup` first, then each line of keys (Tab included),
 * each followed by Ctrl-U so the next starts on an empty line. Resolves with what the terminal showed,
 * escape sequences and carriage returns removed. Each step waits for a marker the shell prints and the prompt
 * after it (the line editor is reading keys by then: keys sent earlier meet the terminal's own line editing,
 * where Ctrl-U erases them), not for a time.
 */
function terminal(shell: string[], setup: string, keys: string[]): Promise<string> {
  // A home of its own: the shells write their history and zsh its .zcompdump there.
  const home = mkdtempSync(join(tmpdir(), 'vsop-shell-'));
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-c', shell.join(' '), '/dev/null'], { cwd: ROOT, env: { PATH, TERM: 'dumb', HOME: home } });
    let out = '';
    let step = 0;
    const send = () => {
      // "MARK""n" is typed, MARKn is what echo prints: the marker is not matched by the echoed command.
      const marker = `echo MARK""${step}\n`;
      if (step === 0) child.stdin.write(`PS1='READY> '; PROMPT='READY> '; ${setup}\n${marker}`);
      else if (step <= keys.length) child.stdin.write(`${keys[step - 1]}${KILL_LINE}${marker}`);
      else child.stdin.end('exit\n');
    };
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${shell[0]} did not finish; the terminal showed:\n${clean(out)}`));
    }, 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      // zsh may print its PROMPT_SP filler before the prompt, on the same line.
      while (new RegExp(`MARK${step}\\n[^\\n]*READY> `).test(clean(out))) {
        step++;
        send();
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(clean(out));
    });
    send();
  });
}

function clean(s: string): string {
  let text = s.replace(/\x1b\[[0-9;?]*[a-zA-Z]|\x1b[=>]|\r/g, '').replace(/\x07/g, '');
  // A backspace moves back over the character before it, which what follows overwrites.
  for (let prev = ''; prev !== text; ) {
    prev = text;
    text = text.replace(/[^\n\x08]\x08/g, '');
  }
  return text;
}

describe('bash completion (real bash, in a terminal)', { skip: missing('bash') }, () => {
  it('descends into directories for -f and --kubeconfig, lists completion <shell>, offers --help, and completes kubectl-vsop', async () => {
    const screen = await terminal(['bash', '--norc', '--noprofile', '-i'], 'source completions/vsop.bash', [
      `vsop sync -f exa${TAB}se${TAB}`,
      `vsop status --kubeconfig exa${TAB}se${TAB}`,
      `vsop completion ${TAB}${TAB}`,
      `vsop sync --hel${TAB}`,
      `vsop --hel${TAB}`,
      `vsop hel${TAB}`,
      `kubectl-vsop sy${TAB}`,
    ]);
    // A directory gets a slash and no space, so what is typed next continues its path.
    assert.match(screen, /vsop sync -f examples\/seed\//);
    assert.match(screen, /vsop status --kubeconfig examples\/seed\//);
    assert.match(screen, /vsop completion \nbash\s+fish\s+zsh\s*\n/, 'the shells, without the flags');
    assert.match(screen, /vsop sync --help /);
    assert.match(screen, /vsop --help /);
    assert.match(screen, /vsop help /);
    assert.match(screen, /kubectl-vsop sync /);
  });

  it('completes Service names, developer namespaces and contexts (colons and all) from vsop __complete', async () => {
    const screen = await terminal(['bash', '--norc', '--noprofile', '-i'], `export KUBECONFIG=${KUBECONFIG}; source completions/vsop.bash`, [
      `vsop sync -f examples/hierarchical fr${TAB}`,
      `kubectl-vsop route add api -f examples/seed -n dev-${TAB}${TAB}`,
      `vsop status --context arn:aws:${TAB}`,
      `vsop sync --context=ki${TAB}`,
    ]);
    assert.match(screen, /vsop sync -f examples\/hierarchical frontend /);
    assert.match(screen, /-n dev-\ndev-alice\s+dev-bob\s*\n/);
    assert.ok(screen.includes(`status --context ${ARN} `), screen);
    assert.match(screen, /sync --context=kind-dev /);
  });
});

// A directory and files with spaces in their names, holding the hierarchical example's input.
const SPACED = join(BINS, 'my dir');
mkdirSync(SPACED);
for (const file of readdirSync(join(ROOT, 'examples', 'hierarchical'))) copyFileSync(join(ROOT, 'examples', 'hierarchical', file), join(SPACED, file.replace(/^s/, 's ')));

describe('bash completion of paths with spaces (real bash, in a terminal)', { skip: missing('bash') }, () => {
  it('completes them quoted or escaped, as bash completes file names, and reads names from them', async () => {
    const screen = await terminal(['bash', '--norc', '--noprofile', '-i'], `source completions/vsop.bash; cd ${BINS}`, [
      `vsop sync -f "my d${TAB}`,
      `vsop sync -f my\\ d${TAB}s${TAB}`,
      `vsop status --kubeconfig "my dir/s${TAB}`,
      `vsop sync -f "my dir" fr${TAB}`,
      `vsop sync -f 'my dir/configmap.yaml' -f my\\ dir/s\\ ervices.yaml a${TAB}${TAB}`,
    ]);
    // As bash completes any command's file names (`ls "my d<Tab>` gives `ls "my dir"/`).
    assert.match(screen, /vsop sync -f "my dir"\//);
    assert.match(screen, /vsop sync -f my\\ dir\/s\\ ervices\.yaml /);
    assert.match(screen, /vsop status --kubeconfig "my dir\/s ervices\.yaml" /);
    assert.match(screen, /vsop sync -f "my dir" frontend /);
    assert.match(screen, /ervices\.yaml a\napi\s+auth\s*\n/);
  });
});

describe('zsh completion (real zsh, in a terminal)', { skip: missing('zsh') }, () => {
  it('descends into directories for -f, and lists completion <shell>', async () => {
    const screen = await terminal(['zsh', '-f', '-i'], 'autoload -U compinit; compinit -u; source completions/vsop.zsh', [
      `vsop sync -f exa${TAB}se${TAB}`,
      `vsop completion ${TAB}`,
      `kubectl-vsop sync --dry-run ${TAB}`,
    ]);
    assert.match(screen, /vsop sync -f examples\/seed\//);
    assert.match(screen, /vsop completion \nbash\s+fish\s+zsh\s*\n/);
    assert.match(screen, /client\s+none\s+server/);
  });

  it('completes Service names, developer namespaces and contexts from vsop __complete', async () => {
    const screen = await terminal(['zsh', '-f', '-i'], `stty cols 200; export KUBECONFIG=${KUBECONFIG}; autoload -U compinit; compinit -u; source completions/vsop.zsh`, [
      `vsop sync -f examples/hierarchical fr${TAB}`,
      `kubectl-vsop status -f examples/seed -n dev-${TAB}`,
      `vsop trace api --context arn${TAB}`,
      `vsop sync -f "${SPACED}" fr${TAB}`,
    ]);
    assert.match(screen, /vsop sync -f examples\/hierarchical frontend /);
    assert.match(screen, /-n dev-\ndev-alice\s+dev-bob\s*\n/);
    assert.ok(screen.includes(`trace api --context ${ARN} `), screen);
    assert.ok(screen.includes(`vsop sync -f "${SPACED}" frontend `), screen);
  });
});

describe('fish completion (real fish, complete -C)', { skip: has('fish') ? false : 'fish is not installed' }, () => {
  const complete = (line: string) => {
    const r = spawnSync('fish', ['--no-config', '-c', `source completions/vsop.fish; complete -C ${JSON.stringify(line)}`], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, PATH },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean);
  };
  it('completes kubectl-vsop as vsop: directories, completion <shell>, --help, commands', () => {
    assert.deepEqual(complete('kubectl-vsop sync -f exa'), ['examples/']);
    assert.deepEqual(complete('kubectl-vsop completion '), ['bash', 'fish', 'zsh']);
    assert.deepEqual(complete('vsop sync --hel'), ['--help\tprint help']);
    assert.deepEqual(complete('vsop --hel'), ['--help\tprint help']);
    assert.deepEqual(complete('vsop hel'), ['help\tprint help for a command']);
    assert.deepEqual(
      complete('kubectl-vsop sy').map((l) => l.split('\t')[0]),
      ['sync'],
    );
  });
  it('completes Service names, developer namespaces and contexts from vsop __complete', () => {
    const names = (line: string) => complete(line).map((l) => l.split('\t')[0]);
    assert.deepEqual(names('vsop sync -f examples/hierarchical a'), ['api', 'auth']);
    assert.deepEqual(names('kubectl-vsop xds render -f examples/xds '), ['greeter']);
    assert.deepEqual(names('vsop route add api -f examples/seed -n dev-'), ['dev-alice', 'dev-bob']);
    assert.deepEqual(names(`vsop --kubeconfig ${KUBECONFIG} status --context `), [ARN, 'kind-dev']);
    assert.deepEqual(names(`vsop sync -f '${SPACED}' a`), ['api', 'auth']);
  });
});
