// One YAML document to plain data, for every place vsop reads YAML (files, config.yaml, the template):
// the first syntax error, a tag that means nothing in a Kubernetes object, an alias without its anchor and
// aliases that expand without bound are each a problem with its position, never an exception.

import { type Document, isAlias, isNode, type LineCounter, visit } from 'yaml';

/**
 * How far aliases may expand, in the yaml package's count (uses × the aliased node's own aliases): far
 * more than any real manifest needs (1,000 Services sharing one `ports: *web` are 1,000), far less than a
 * "billion laughs" bomb, which passes it within a few levels of nesting.
 */
export const MAX_ALIAS_COUNT = 100_000;

/** The tags a Kubernetes object can carry (those of YAML's core schema); any other is refused. */
const TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** Nesting deeper than the yaml package's recursion can follow (several hundred levels). */
export const TOO_DEEP = 'nests collections too deeply for vsop to read (a Kubernetes object nests a few dozen levels)';

export interface YamlProblem {
  line: number;
  col: number;
  message: string;
}

/** The document's value, or its first problem. */
export function documentValue(doc: Document, lineCounter: LineCounter): { value: unknown } | { problem: YamlProblem } {
  const at = (offset: number, message: string) => ({ problem: { ...lineCounter.linePos(offset), message } });
  const error = doc.errors[0];
  if (error) return at(error.pos[0], /call stack/i.test(error.message) ? TOO_DEEP : error.message.split('\n')[0]!);
  let found: { problem: YamlProblem } | undefined;
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node) || !isNode(node) || node.tag === undefined || TAGS.has(node.tag)) return undefined;
      found = at(
        node.range?.[0] ?? 0,
        `the tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} has no meaning in a Kubernetes object (write the value as a plain string, number, list or mapping)`,
      );
      return visit.BREAK;
    },
  });
  if (found) return found;
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    // The yaml package converts nested collections recursively: deep enough nesting exhausts the stack.
    if (err instanceof RangeError) return at(doc.range?.[0] ?? 0, TOO_DEEP);
    if (!(err instanceof ReferenceError)) throw err;
    const alias = firstAlias(doc);
    const bomb = /excessive alias/i.test(err.message);
    return at(
      alias ?? doc.range?.[0] ?? 0,
      bomb
        ? `aliases expand past ${MAX_ALIAS_COUNT.toLocaleString('en')} nodes (a YAML alias bomb?): write the data out, or share less`
        : `${err.message.split('\n')[0]} (an alias *name needs an anchor &name earlier in the same document; quote a value that starts with *)`,
    );
  }
}

function firstAlias(doc: Document): number | undefined {
  let at: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      at = node.range?.[0];
      return visit.BREAK;
    },
  });
  return at;
}
