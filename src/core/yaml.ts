// One YAML document to plain data, for every place vsop reads YAML (files, config.yaml, the template):
// the first syntax error, a tag that means nothing in a Kubernetes object, an alias without its anchor and
// aliases that expand without bound are each a problem with its position, never an exception.

import { type Document, type DocumentOptions, isAlias, isNode, type LineCounter, type ParseOptions, type ScalarTag, type SchemaOptions, visit } from 'yaml';

/**
 * How far aliases may expand, in the yaml package's count (uses × the aliased node's own aliases): far
 * more than any real manifest needs (1,000 Services sharing one `ports: *web` are 1,000), far less than a
 * "billion laughs" bomb, which passes it within a few levels of nesting.
 */
export const MAX_ALIAS_COUNT = 100_000;

/** The tags a Kubernetes object can carry (those of YAML's core schema); any other is refused. */
const TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/**
 * `!!float 80`: YAML's core schema has no float that reads "80", so the yaml package leaves it a string
 * (with a warning). Go's YAML, which kubectl reads with, makes it 80. This tag is used only where a document
 * writes !!float (it is no default): a decimal number of any form is its value; anything else (.inf and
 * .nan too, which JSON cannot hold) is an error naming the value.
 */
const explicitFloat: ScalarTag = {
  tag: 'tag:yaml.org,2002:float',
  resolve(text, onError) {
    if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/.test(text)) return Number(text);
    onError(`${JSON.stringify(text)} cannot be read as !!float (a Kubernetes object holds finite numbers only)`);
    return text;
  },
};

/**
 * `!!bool yes`: the core schema's booleans are true and false only; Go's YAML takes YAML 1.1's words with
 * the tag written (yaml.v2 resolve.go's table). Used only where a document writes !!bool.
 */
const explicitBool: ScalarTag = {
  tag: 'tag:yaml.org,2002:bool',
  resolve(text, onError) {
    if (/^(?:y|Y|yes|Yes|YES|on|On|ON|true|True|TRUE)$/.test(text)) return true;
    if (/^(?:n|N|no|No|NO|off|Off|OFF|false|False|FALSE)$/.test(text)) return false;
    onError(`${JSON.stringify(text)} cannot be read as !!bool (true or false)`);
    return text;
  },
};

/** The yaml package's options for every document vsop reads (files, config.yaml, the template). */
export const READ_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  prettyErrors: false,
  uniqueKeys: true,
  merge: true,
  customTags: (tags) => [...tags, explicitFloat, explicitBool],
};

/** Nesting deeper than the yaml package's recursion can follow (several hundred levels). */
export const TOO_DEEP = 'nests collections too deeply for vsop to read (a Kubernetes object nests a few dozen levels)';

/** A text that must be one YAML document holds several: said where the second one starts (its ---). */
export const MULTIPLE_DOCUMENTS =
  'holds more than one YAML document, and a second one starts here (at its ---): vsop reads one; remove the --- and what follows it, or merge the two';

export interface YamlProblem {
  line: number;
  col: number;
  message: string;
}

/** The document's value, or its first problem. */
export function documentValue(doc: Document, lineCounter: LineCounter): { value: unknown } | { problem: YamlProblem } {
  const at = (offset: number, message: string) => ({ problem: { ...lineCounter.linePos(offset), message } });
  const error = doc.errors[0];
  // The yaml package's own words here name its API (parseAllDocuments), not the user's file.
  if (error?.code === 'MULTIPLE_DOCS') return at(error.pos[0], MULTIPLE_DOCUMENTS);
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
  // An explicit tag the value does not fit (`!!int 1.5`, `!!bool yes`) is only a warning to the yaml package,
  // which then keeps the text as a string; Go's YAML, as kubectl reads, refuses it.
  const unfit = doc.warnings.find((w) => w.code === 'TAG_RESOLVE_FAILED');
  if (unfit) return at(unfit.pos[0], `${unfit.message.replace('tag:yaml.org,2002:', '!!')}: the value does not fit its tag (drop the tag, or write a value of that type)`);
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
