#!/usr/bin/env node
// kubectl's plugin completion (kubectl 1.26 and later; kubectl/pkg/cmd/plugin/plugin_completion.go): for
// `kubectl vsop ...<Tab>` kubectl runs the kubectl_complete-vsop on PATH with the words typed after the
// plugin's name, the last one the word being completed ("" for a new one), and reads back cobra's
// protocol: what `vsop __complete` prints (src/cli/complete.ts). Installed with the package (package.json bin).
process.argv.splice(2, 0, '__complete');
import('./vsop.js');
