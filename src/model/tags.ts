/**
 * Resource tags as the DMS model describes them: Key 1-128 and Value 0-256 characters of
 * Unicode letters, digits, white space and `_ . : / = + -`; keys may not start with `aws:` or
 * `dms:` (reserved for the provider); at most 50 tags per resource.
 *
 * Every Create* operation that takes `Tags` calls `checkTags(input.Tags)` before storing anything.
 *
 * @example
 *   checkTags([{ Key: 'team', Value: 'data' }]); // ok
 *   checkTags([{ Key: 'aws:owner', Value: 'x' }]); // throws InvalidParameterValueException
 */
import { invalidParameter } from './faults.js';

export interface TagInput {
  Key?: string;
  Value?: string;
  /** Present on ListTagsForResource output; ignored on input. */
  ResourceArn?: string;
}

export const MAX_TAGS_PER_RESOURCE = 50;
// The model's own pattern for Tag.Key and Tag.Value (`^([\p{L}\p{Z}\p{N}_.:/=+\-]*)$`), no more.
const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+-]*$/u;
const RESERVED = /^(aws|dms):/i;

/** Validates one tag key (also used for RemoveTagsFromResource's TagKeys). */
export function checkTagKey(key: unknown, field = 'Tags.Key'): string {
  if (typeof key !== 'string' || key.length === 0) throw invalidParameter(`${field} is required: every tag needs a Key of 1 to 128 characters.`);
  if ([...key].length > 128) throw invalidParameter(`${field} "${key.slice(0, 40)}..." is too long: a tag key has at most 128 characters.`);
  if (!ALLOWED.test(key)) {
    throw invalidParameter(`${field} "${key}" has characters a tag cannot hold: use letters, digits, spaces and _ . : / = + -.`);
  }
  if (RESERVED.test(key)) throw invalidParameter(`${field} "${key}" starts with a reserved prefix (aws: or dms:); choose another key.`);
  return key;
}

/**
 * Validates a Tags list (undefined is fine: no tags). Throws InvalidParameterValueException naming
 * the key at fault. Duplicate keys in one list are refused since their outcome would be ambiguous.
 */
export function checkTags(tags: TagInput[] | undefined): { Key: string; Value: string }[] {
  if (tags === undefined) return [];
  if (tags.length > MAX_TAGS_PER_RESOURCE) {
    throw invalidParameter(`Tags has ${tags.length} tags; a resource can have at most ${MAX_TAGS_PER_RESOURCE}.`);
  }
  const seen = new Set<string>();
  return tags.map((t) => {
    const key = checkTagKey(t.Key);
    if (seen.has(key)) throw invalidParameter(`Tags lists the key "${key}" twice; give each key once.`);
    seen.add(key);
    const value = t.Value ?? '';
    if (typeof value !== 'string') throw invalidParameter(`Tags.Value for key "${key}" must be a string.`);
    if ([...value].length > 256) throw invalidParameter(`Tags.Value for key "${key}" is too long: a tag value has at most 256 characters.`);
    if (!ALLOWED.test(value)) {
      throw invalidParameter(`Tags.Value for key "${key}" has characters a tag cannot hold: use letters, digits, spaces and _ . : / = + -.`);
    }
    return { Key: key, Value: value };
  });
}
