import { integerArg, PreparedSql, shapeName, textArrayArg } from './prepared-sql';

describe('PreparedSql', () => {
  const sql = new PreparedSql(
    'pick_rows',
    ['uuid', 'text[]', 'integer'],
    'SELECT id FROM t WHERE family_id = $1 AND id = ANY($2) LIMIT $3',
  );
  const literal = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const args = ["'00000000-0000-0000-0000-000000000001'", textArrayArg(['a', "o'b"], literal), integerArg(10)];

  it('prepares with the parameter types and executes with the arguments', () => {
    expect(sql.prepareText()).toBe(
      'PREPARE pick_rows(uuid, text[], integer) AS SELECT id FROM t WHERE family_id = $1 AND id = ANY($2) LIMIT $3',
    );
    expect(sql.executeText(args)).toBe("EXECUTE pick_rows('00000000-0000-0000-0000-000000000001', ARRAY['a','o''b'], 10)");
  });

  it('inlines the same arguments, each cast to its parameter type, when statements are not prepared', () => {
    expect(sql.inlineText(args)).toBe(
      "SELECT id FROM t WHERE family_id = ('00000000-0000-0000-0000-000000000001')::uuid AND id = ANY((ARRAY['a','o''b'])::text[]) LIMIT (10)::integer",
    );
    expect(sql.inlineText(["'x'", textArrayArg([], literal), '1'])).toContain("ANY(('{}')::text[])");
  });

  it('refuses a wrong argument count, an untyped parameter, a name that is not an identifier and a non-integer', () => {
    expect(() => sql.executeText(args.slice(1))).toThrow(/2 arguments for 3/);
    expect(() => new PreparedSql('x', ['int'], 'SELECT $2')).toThrow(/\$2 has no type/);
    expect(() => new PreparedSql('drop table', [], 'SELECT 1')).toThrow(/not a plain identifier/);
    expect(() => integerArg(1.5)).toThrow(/not an integer/);
    expect(() => integerArg(Number.MAX_SAFE_INTEGER + 2)).toThrow(/not an integer/);
  });
});

describe('shapeName', () => {
  it('names a text by a prefix and its hash: the same text the same name, another text another', () => {
    expect(shapeName('q', 'SELECT 1')).toMatch(/^q_[0-9a-f]{12}$/);
    expect(shapeName('q', 'SELECT 1')).toBe(shapeName('q', 'SELECT 1'));
    expect(shapeName('q', 'SELECT 2')).not.toBe(shapeName('q', 'SELECT 1'));
  });
});
