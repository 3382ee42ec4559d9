import type { Compilable, CompiledQuery, QueryResult } from 'kysely'
import type { Db } from './connect.js'

/**
 * A query kysely builds and compiles once, then runs with new parameters: for the few queries
 * every token request makes, building the query tree again each time costs more than SQLite
 * takes to answer it. `build` is called once with a marker in place of each named parameter;
 * the SQL stays kysely's, for whichever dialect `db` is. The query runs on `db`, or on a
 * transaction of it when one is given.
 */
export function compileOnce<Args extends Record<string, unknown>, Row>(
  db: Db,
  names: readonly (keyof Args & string)[],
  build: (db: Db, args: Args) => Compilable<Row>,
): (args: Args, on?: Db) => Promise<QueryResult<Row>> {
  let prepared: { compiled: CompiledQuery<Row>; slots: (keyof Args & string)[] } | undefined
  // Compiled on first use: repositories are also made for short-lived transactions.
  const prepare = () => {
    const markers = Object.fromEntries(names.map((name) => [name, `\u0000compile-once:${name}`])) as Args
    const compiled = build(db, markers).compile()
    const slots = compiled.parameters.map((value) => names.find((name) => markers[name] === value))
    if (slots.some((slot) => slot === undefined) || new Set(slots).size !== names.length) {
      throw new TypeError('compileOnce: every parameter must be one of the named arguments, each used')
    }
    return { compiled, slots: slots as (keyof Args & string)[] }
  }
  return (args, on = db) => {
    prepared ??= prepare()
    const { compiled, slots } = prepared
    return on.executeQuery<Row>({ ...compiled, parameters: slots.map((slot) => args[slot]) })
  }
}
