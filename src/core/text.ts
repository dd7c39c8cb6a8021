// Bytes to text the way kubectl reads manifests: cli-runtime's resource.FileVisitor decodes every file
// and stdin through unicode.BOMOverride(unicode.UTF8.NewDecoder()) (golang.org/x/text): a UTF-8
// byte-order mark is dropped, a UTF-16 one (little- or big-endian, as Windows PowerShell's `>` writes)
// selects UTF-16, and anything else is UTF-8. Decoding is the platform's TextDecoder (WHATWG Encoding).

import { CONFIG_KEY } from './ownership.ts';

/** The encodings a byte-order mark selects, by its bytes. */
const BOMS: readonly { bytes: readonly number[]; encoding: 'utf-8' | 'utf-16le' | 'utf-16be' }[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'utf-8' },
  { bytes: [0xff, 0xfe], encoding: 'utf-16le' },
  { bytes: [0xfe, 0xff], encoding: 'utf-16be' },
];

/**
 * The text of `bytes`, or why it has none. Unlike kubectl, which puts U+FFFD in place of bytes that are
 * not UTF-8 and goes on, such input is refused with the offset of the first bad byte: a replaced byte in
 * a header value or a host name would be written to the cluster unseen.
 */
export function decodeText(bytes: Uint8Array): { text: string } | { problem: string } {
  const bom = BOMS.find((b) => b.bytes.every((x, i) => bytes[i] === x));
  const encoding = bom?.encoding ?? 'utf-8';
  const body = bom ? bytes.subarray(bom.bytes.length) : bytes;
  try {
    return { text: new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(body) };
  } catch {
    const what = encoding === 'utf-8' ? 'UTF-8' : `${encoding.toUpperCase().replace('UTF-16', 'UTF-16 ')} (from its byte-order mark)`;
    const at = encoding === 'utf-8' ? ` at byte ${firstInvalidUtf8(body) + (bom?.bytes.length ?? 0)}` : '';
    return { problem: `is not ${what} text${at}: save it as UTF-8 (or UTF-16 with a byte-order mark)` };
  }
}

/** Offset of the first byte that does not continue a valid UTF-8 sequence (only called when one exists). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // Decoding growing prefixes would be quadratic; step through sequences instead (RFC 3629 section 4).
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > bytes.length) return i;
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(i, i + n));
    } catch {
      return i;
    }
    i += n;
  }
  return i;
}

/**
 * The config.yaml text of vsop's ConfigMap, wherever `kubectl create configmap --from-file` puts it:
 * `data` for UTF-8 text, `binaryData` (base64) for anything else, such as a UTF-16 file (kubectl's
 * create configmap checks utf8.Valid and picks the field). A leading byte-order mark is dropped either way.
 * Undefined when the ConfigMap holds no such key; a problem names the field that cannot be read.
 */
export function configMapText(cm: { data?: unknown; binaryData?: unknown }): { text: string; field: string } | { problem: string; field: string } | undefined {
  const data = cm.data as Record<string, unknown> | undefined;
  const text = data?.[CONFIG_KEY];
  if (typeof text === 'string') return { text: text.startsWith('\uFEFF') ? text.slice(1) : text, field: `data["${CONFIG_KEY}"]` };
  const binary = (cm.binaryData as Record<string, unknown> | undefined)?.[CONFIG_KEY];
  if (binary === undefined) return undefined;
  const field = `binaryData["${CONFIG_KEY}"]`;
  if (typeof binary !== 'string') return { problem: 'must be base64 text', field };
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.from(atob(binary), (c) => c.charCodeAt(0));
  } catch {
    return { problem: 'is not valid base64', field };
  }
  const decoded = decodeText(bytes);
  return 'text' in decoded ? { text: decoded.text, field } : { problem: decoded.problem, field };
}
