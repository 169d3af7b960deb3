/** Identifier rules from the DMS model's documentation (see spec §10). */
import { invalidParameter } from './faults.js';

const IDENTIFIER = /^[A-Za-z](?!.*--)[A-Za-z0-9-]*$/;

/**
 * Checks a user identifier: starts with a letter, letters/digits/hyphens only, no trailing hyphen,
 * no two consecutive hyphens, at most maxLength characters.
 */
export function checkIdentifier(field: string, value: string, maxLength: number): void {
  const problems: string[] = [];
  if (value.length < 1 || value.length > maxLength) problems.push(`must contain 1 to ${maxLength} characters`);
  if (!/^[A-Za-z]/.test(value)) problems.push('must start with a letter');
  if (/[^A-Za-z0-9-]/.test(value)) problems.push('may contain only ASCII letters, digits and hyphens');
  if (value.endsWith('-')) problems.push('cannot end with a hyphen');
  if (value.includes('--')) problems.push('cannot contain two consecutive hyphens');
  if (problems.length || !IDENTIFIER.test(value)) {
    throw invalidParameter(`Invalid ${field} "${value}": it ${problems.join(', ') || 'is not a valid identifier'}.`);
  }
}

/** ResourceIdentifier on Create*: becomes the ARN suffix, so it is held to the same rules, ≤31 chars. */
export function checkResourceIdentifier(value: string): void {
  checkIdentifier('ResourceIdentifier', value, 31);
}
