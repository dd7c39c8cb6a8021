// vsop config validate: every problem in the configuration, each with its path and position.

import { loadConfig } from '../core/config.ts';
import { dataText } from '../core/render.ts';
import { ConfigError } from '../errors.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface ValidateOptions extends SourceOptions {
  output: 'text' | 'json' | 'yaml';
}

export async function validate(io: Io, opts: ValidateOptions): Promise<number> {
  const { config } = await (await openSource(io, opts)).source.read();
  if (opts.output !== 'text') {
    try {
      const loaded = loadConfig(config.text, config.source, config.locate);
      io.out(dataText(opts.output, { valid: true, errors: [], warnings: loaded.warnings, config: loaded.config }));
      return 0;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.out(dataText(opts.output, { valid: false, errors: err.problems, warnings: [] }));
      throw err;
    }
  }
  const loaded = loadConfig(config.text, config.source, config.locate);
  printWarnings(io, loaded.warnings, paint(io, opts.color).err.yellow);
  const n = loaded.config.developerNamespaces.length;
  io.out(`${config.source}: valid (production ${loaded.config.defaultNamespace}, ${n} developer namespace${n === 1 ? '' : 's'})\n`);
  return 0;
}
