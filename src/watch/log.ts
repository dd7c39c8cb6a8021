// Structured logs, one JSON object a line, with the fields the operations guide names (service,
// namespace, virtualservice, error) so its `grep` recipes keep working; or, in development mode, lines for
// a person.

export type Level = 'debug' | 'info' | 'error';
const RANK: Record<Level, number> = { debug: 0, info: 1, error: 2 };

export interface Fields {
  service?: string;
  namespace?: string;
  virtualservice?: string;
  error?: unknown;
  [key: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

export function createLogger(write: (line: string) => void, level: Level, development = false, now: () => Date = () => new Date()): Logger {
  const emit = (at: Level, msg: string, fields: Fields = {}) => {
    if (RANK[at] < RANK[level]) return;
    const { error, ...rest } = fields;
    const entry: Record<string, unknown> = { level: at, ts: now().toISOString(), msg, ...rest };
    if (error !== undefined) entry.error = error instanceof Error ? error.message : String(error);
    if (development) {
      const extra = Object.entries(entry)
        .filter(([k]) => !['level', 'ts', 'msg'].includes(k))
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${entry.ts} ${at.toUpperCase().padEnd(5)} ${msg}${extra ? `  ${extra}` : ''}\n`);
    } else write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
