// A VirtualService match entry in words, for trace and status: "header x-developer exact dev-alice, uri prefix /api/".

type StringMatch = Record<string, unknown>;

function sm(m: StringMatch): string {
  const [kind, value] = Object.entries(m)[0] ?? ['present', ''];
  return kind === 'present' ? 'present' : `${kind} ${String(value)}`;
}

/** Every condition of one match entry, joined by commas. */
export function describeMatch(m: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof m.port === 'number') parts.push(`port ${m.port}`);
  if (m.uri) parts.push(`uri ${sm(m.uri as StringMatch)}`);
  for (const [k, v] of Object.entries((m.headers ?? {}) as Record<string, StringMatch>)) parts.push(`header ${k} ${sm(v)}`);
  for (const [k, v] of Object.entries((m.withoutHeaders ?? {}) as Record<string, StringMatch>)) parts.push(`without header ${k} ${sm(v)}`);
  if (m.method) parts.push(`method ${sm(m.method as StringMatch)}`);
  if (m.authority) parts.push(`authority ${sm(m.authority as StringMatch)}`);
  for (const [k, v] of Object.entries((m.queryParams ?? {}) as Record<string, StringMatch>)) parts.push(`query ${k} ${sm(v)}`);
  return parts.length ? parts.join(', ') : 'every request';
}
