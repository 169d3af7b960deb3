/**
 * Source column type -> target column type, PostgreSQL to PostgreSQL. The type is kept exactly as
 * the source prints it (`numeric(12,4)`, `timestamp with time zone`, `jsonb`, `bytea`, `uuid`,
 * `interval`, arrays), because the target understands it and any mapping would lose fidelity.
 * Two cases need the target's own objects instead:
 *  - enums: the type is created in the target table's schema (same name, same labels), so a
 *    renamed schema still gets its enum; arrays of enums follow;
 *  - domains: the base type is used (domain constraints belong to the source application).
 */
import type { SourceColumnInfo } from './catalog.js';
import { qualifiedName, quoteIdent } from './sql.js';

/** The enum a column needs on the target, placed in `targetSchema`. */
export function targetEnumName(col: SourceColumnInfo, targetSchema: string): { schema: string; name: string } | undefined {
  return col.enumType ? { schema: targetSchema, name: col.enumType.name } : undefined;
}

/** The column type on a PostgreSQL target (also what literals are cast to there). */
export function targetColumnType(col: SourceColumnInfo, targetSchema: string): string {
  if (col.enumType) return qualifiedName(targetSchema, col.enumType.name) + (col.isArray ? '[]' : '');
  if (col.domainBaseType) return col.domainBaseType;
  return col.type;
}

/** The column declaration's type part: type plus a non-default collation. */
export function targetColumnDeclaration(col: SourceColumnInfo, targetSchema: string): string {
  const collation = col.collation ? ` COLLATE ${quoteIdent(col.collation)}` : '';
  return targetColumnType(col, targetSchema) + collation;
}

/** Integer types whose min/max split evenly into PK ranges. */
export function isIntegerType(type: string): boolean {
  return type === 'integer' || type === 'bigint' || type === 'smallint';
}

/** Types that cannot bound a parallel-load range (DMS refuses DOUBLE/FLOAT/LOB boundary columns). */
export function isRangeableType(type: string): boolean {
  return !/^(real|double precision|bytea|json|jsonb|xml)$/.test(type) && !type.endsWith('[]');
}
