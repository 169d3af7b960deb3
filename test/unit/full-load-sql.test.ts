/**
 * The SQL a full load builds, without a database: filters and key ranges (typed literals, quoting),
 * segment boundaries, and target DDL (types, enums, keys, renamed index columns).
 */
import { describe, expect, it } from 'vitest';
import type { SourceColumnInfo, SourceTableInfo } from '../../src/connectors/postgres/catalog.js';
import { quoteLiteral } from '../../src/connectors/postgres/sql.js';
import { createTableSql, secondaryIndexSql, targetTableDef } from '../../src/connectors/postgres/target-ddl.js';
import { BinaryRowCounter, chooseCopyFormat, countTextRows } from '../../src/engine/full-load/copy-format.js';
import { autoSegmentCount, evenIntegerBoundaries, rangesFromBoundaries } from '../../src/engine/full-load/segments.js';
import { filtersSql, rangeSql, whereClause } from '../../src/engine/full-load/where.js';

const types = (c: string) => (c === 'id' ? 'bigint' : 'text');

describe('where', () => {
  it('ORs conditions within a filter and ANDs filters, with typed literals', () => {
    expect(
      filtersSql(
        [
          { column: 'id', conditions: [{ operator: 'between', startValue: '1', endValue: '9' }, { operator: 'eq', value: '20' }] },
          { column: 'name', conditions: [{ operator: 'notnull' }] },
        ],
        types,
      ),
    ).toBe(`("id" BETWEEN '1'::bigint AND '9'::bigint OR "id" = '20'::bigint) AND ("name" IS NOT NULL)`);
    expect(filtersSql([], types)).toBeUndefined();
  });

  it('quotes hostile values and identifiers', () => {
    expect(quoteLiteral(`it's`)).toBe(`'it''s'`);
    expect(quoteLiteral('a\\b')).toBe(`E'a\\\\b'`);
    expect(filtersSql([{ column: 'we"ird', conditions: [{ operator: 'noteq', value: `x'); DROP TABLE t; --` }] }], types)).toBe(
      `("we""ird" <> 'x''); DROP TABLE t; --'::text)`,
    );
  });

  it('builds half-open key ranges, row-wise for composite keys', () => {
    expect(rangeSql({ columns: ['id'], lower: ['10'], upper: ['20'] }, types)).toBe(`"id" >= '10'::bigint AND "id" < '20'::bigint`);
    expect(rangeSql({ columns: ['name', 'id'], upper: ['m', '5'] }, types)).toBe(`ROW("name", "id") < ROW('m'::text, '5'::bigint)`);
    expect(rangeSql({ columns: [] }, types)).toBeUndefined();
    expect(whereClause(undefined, 'a = 1', '')).toBe(' WHERE (a = 1)');
    expect(whereClause()).toBe('');
  });
});

describe('segments', () => {
  it('N boundaries give N+1 ranges that cover everything', () => {
    const r = rangesFromBoundaries(['id'], [['10'], ['20']]);
    expect(r).toEqual([
      { columns: ['id'], upper: ['10'] },
      { columns: ['id'], lower: ['10'], upper: ['20'] },
      { columns: ['id'], lower: ['20'] },
    ]);
  });

  it('splits integer keys evenly and never produces empty or repeated boundaries', () => {
    expect(evenIntegerBoundaries(1n, 100n, 4)).toEqual([['26'], ['51'], ['76']]);
    expect(evenIntegerBoundaries(5n, 6n, 8)).toEqual([['6']]);
    expect(evenIntegerBoundaries(-9223372036854775808n, 9223372036854775807n, 2)).toEqual([['0']]);
  });

  it('sizes automatic splits by rows or bytes, capped', () => {
    const s = { segmentRows: 1000, segmentBytes: 1 << 20, maxSegments: 8 };
    expect(autoSegmentCount({ estimatedRows: 500, totalBytes: 1000 }, s)).toBe(1);
    expect(autoSegmentCount({ estimatedRows: 3500, totalBytes: 1000 }, s)).toBe(4);
    expect(autoSegmentCount({ estimatedRows: -1, totalBytes: 3 << 20 }, s)).toBe(3);
    expect(autoSegmentCount({ estimatedRows: 1e9, totalBytes: 0 }, s)).toBe(8);
  });
});

describe('target DDL', () => {
  const col = (name: string, type: string, extra: Partial<SourceColumnInfo> = {}): SourceColumnInfo => ({ name, type, ordinal: 0, notNull: false, isArray: false, typeOid: 25, generated: false, ...extra });
  const mood = { schema: 'public', name: 'mood', labels: ['a', 'b'] };
  const table: SourceTableInfo = {
    schema: 'app',
    table: 'orders',
    tableType: 'table',
    columns: [
      col('id', 'bigint', { notNull: true }),
      col('m', 'mood[]', { isArray: true, enumType: mood }),
      col('amount', 'numeric(12,2)'),
      col('note', 'text', { collation: 'C' }),
      col('secret', 'text'),
    ],
    primaryKey: ['id'],
    uniqueKeys: [],
    indexes: [
      { name: 'orders_pkey', primary: true, unique: true, method: 'btree', keyColumns: ['id'], keyDefinitions: ['id'], includeColumns: [], constraintName: 'orders_pkey', definition: '' },
      { name: 'orders_amount_idx', primary: false, unique: false, method: 'btree', keyColumns: ['amount'], keyDefinitions: ['amount DESC'], includeColumns: ['note'], definition: '' },
      { name: 'orders_secret_idx', primary: false, unique: true, method: 'btree', keyColumns: ['secret'], keyDefinitions: ['secret'], includeColumns: [], definition: '' },
      { name: 'orders_expr_idx', primary: false, unique: false, method: 'btree', keyColumns: [null], keyDefinitions: ['lower(note)'], includeColumns: [], predicate: '(amount > (0)::numeric)', definition: '' },
    ],
    replicaIdentity: 'default',
    estimatedRows: 0,
    sizeBytes: 0,
    totalBytes: 0,
  };
  const columns = [
    { source: 'id', target: 'ID' },
    { source: 'm', target: 'm' },
    { source: 'amount', target: 'total' },
    { source: 'note', target: 'note' },
  ];
  const def = targetTableDef(table, { schema: 'sales', table: 'purchases' }, columns);

  it('keeps types, NOT NULL and collation, puts enums in the target schema, renames the key and its constraint', () => {
    expect(createTableSql(def, true)).toBe(
      'CREATE TABLE "sales"."purchases" (\n  "ID" bigint NOT NULL,\n  "m" "sales"."mood"[],\n  "total" numeric(12,2),\n  "note" text COLLATE "C",\n  CONSTRAINT "purchases_pkey" PRIMARY KEY ("ID")\n)',
    );
    expect(createTableSql(def, false)).not.toContain('PRIMARY KEY');
  });

  it('creates secondary indexes named after the renamed table, with renamed columns, and skips those over removed columns', () => {
    expect(secondaryIndexSql(table, def, columns)).toEqual([
      'CREATE INDEX IF NOT EXISTS "purchases_amount_idx" ON "sales"."purchases" USING btree ("total" DESC) INCLUDE ("note")',
      'CREATE INDEX IF NOT EXISTS "purchases_expr_idx" ON "sales"."purchases" USING btree ((lower(note))) WHERE (amount > (0)::numeric)',
    ]);
  });

  it('loads without a primary key when a key column is removed', () => {
    expect(targetTableDef(table, { schema: 's', table: 't' }, [{ source: 'm', target: 'm' }]).primaryKey).toEqual([]);
  });
});

describe('COPY format', () => {
  const c = (typeOid: number, extra: Partial<SourceColumnInfo> = {}): SourceColumnInfo => ({ name: 'c', type: 't', ordinal: 1, notNull: false, isArray: false, typeOid, generated: false, ...extra });

  it('uses binary only for built-in types between servers of one major version', () => {
    expect(chooseCopyFormat('auto', [c(20), c(1700), c(1009)], true)).toBe('binary');
    expect(chooseCopyFormat('auto', [c(20)], false)).toBe('text');
    expect(chooseCopyFormat('auto', [c(20), c(16500)], true)).toBe('text');
    expect(chooseCopyFormat('auto', [c(20), c(1009, { enumType: { schema: 's', name: 'e', labels: [] } })], true)).toBe('text');
    expect(chooseCopyFormat('text', [c(20)], true)).toBe('text');
  });

  it('counts text rows by their line ends', () => {
    expect(countTextRows(Buffer.from('1\ta\\nb\n2\t\\N\n'))).toBe(2);
  });

  it('counts binary tuples however the stream is cut', () => {
    const int16 = (n: number) => {
      const b = Buffer.alloc(2);
      b.writeInt16BE(n);
      return b;
    };
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const field = (v: Buffer | null) => (v === null ? int32(-1) : Buffer.concat([int32(v.length), v]));
    const parts = [Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), int32(0), int32(3), Buffer.from('ext')];
    for (let i = 0; i < 50; i++) parts.push(int16(3), field(Buffer.from(`row ${i}\n`)), field(null), field(Buffer.alloc(i * 7, 0x0a)));
    parts.push(int16(-1));
    const all = Buffer.concat(parts);
    for (const size of [1, 2, 3, 5, 19, 64, all.length]) {
      const counter = new BinaryRowCounter();
      for (let off = 0; off < all.length; off += size) counter.push(all.subarray(off, off + size));
      expect(counter.rows).toBe(50);
    }
  });
});
