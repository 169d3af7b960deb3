/**
 * SQL text helpers for PostgreSQL. COPY (SELECT ...) cannot take bind parameters, so filter and
 * range values are inlined as quoted literals; identifiers are always quoted so mixed-case and
 * reserved names survive.
 */

/** `"name"` with embedded quotes doubled. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * A string literal that is correct whatever `standard_conforming_strings` says: backslashes force
 * the E'' form with doubled backslashes.
 */
export function quoteLiteral(value: string): string {
  const body = value.replace(/'/g, "''");
  return value.includes('\\') ? `E'${body.replace(/\\/g, '\\\\')}'` : `'${body}'`;
}
