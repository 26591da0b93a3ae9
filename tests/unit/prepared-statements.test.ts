import { createStatementNamer } from '../../src/infrastructure/prepared-statements';

describe('statement names', () => {
  it('when the same text is named twice, then it gets the same name, and another text another name', () => {
    const nameOf = createStatementNamer();
    const name = nameOf('select "id" from "items" where "id" = $1');
    expect(name).toMatch(/^q_[\w-]{24}$/);
    expect(nameOf('select "id" from "items" where "id" = $1')).toBe(name);
    expect(nameOf('select "name" from "items" where "id" = $1')).not.toBe(name);
  });

  it('when a statement selects or returns *, then it stays unnamed', () => {
    const nameOf = createStatementNamer();
    expect(nameOf('select * from "items" where "id" = $1 limit $2')).toBeUndefined();
    expect(nameOf('insert into "items" ("name") values ($1) returning *')).toBeUndefined();
  });

  it('when the limit of named texts is reached, then new texts stay unnamed and known ones keep their names', () => {
    const nameOf = createStatementNamer(2);
    const first = nameOf('select $1::int');
    expect(nameOf('select $1::text')).toBeDefined();
    expect(nameOf('select $1::uuid')).toBeUndefined();
    expect(nameOf('select $1::int')).toBe(first);
  });
});
