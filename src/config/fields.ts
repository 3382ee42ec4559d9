/**
 * Typed parsers for environment variables. Each field knows its variable name, its default and
 * a one-line description (rendered into the README table), so the Config type is derived from
 * this one description and cannot drift from it.
 */

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '))
    this.name = 'ConfigError'
  }
}

export interface Field<T> {
  readonly env: string
  readonly doc: string
  readonly defaultText: string
  /** A secret: `NAME_FILE` may name a file holding the value instead (Docker and Kubernetes secrets). */
  readonly fromFile?: boolean
  parse(raw: string | undefined, parsed: Readonly<Record<string, unknown>>): T
}

/** Thrown inside a parser; the loader prefixes the variable name. */
export class FieldProblem extends Error {}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Parses `90`, `90s`, `10m`, `12h`, `30d` into seconds. */
export function parseDuration(raw: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(raw.trim())
  if (!match) throw new FieldProblem(`"${raw}" is not a duration (examples: 600, 10m, 12h, 30d)`)
  const seconds = Number(match[1]) * UNITS[match[2] || 's']!
  if (!Number.isSafeInteger(seconds) || seconds <= 0) throw new FieldProblem(`"${raw}" must be a positive duration`)
  return seconds
}

export function duration(env: string, fallback: string, doc: string, max?: number): Field<number> {
  return {
    env,
    doc,
    defaultText: fallback,
    parse(raw) {
      const seconds = parseDuration(raw ?? fallback)
      if (max !== undefined && seconds > max) throw new FieldProblem(`must be at most ${max} seconds`)
      return seconds
    },
  }
}

export function optionalDuration(env: string, fallback: string, doc: string): Field<number | null> {
  return {
    env,
    doc,
    defaultText: fallback,
    parse(raw) {
      const value = (raw ?? fallback).trim()
      return value === 'off' || value === '' ? null : parseDuration(value)
    },
  }
}

export function integer(env: string, fallback: number, doc: string, min: number, max: number): Field<number> {
  return {
    env,
    doc,
    defaultText: String(fallback),
    parse(raw) {
      if (raw === undefined || raw === '') return fallback
      if (!/^\d+$/.test(raw)) throw new FieldProblem(`"${raw}" is not a whole number`)
      const value = Number(raw)
      if (value < min || value > max) throw new FieldProblem(`must be between ${min} and ${max}`)
      return value
    },
  }
}

export function oneOf<T extends string>(env: string, fallback: T, values: readonly T[], doc: string): Field<T> {
  return {
    env,
    doc,
    defaultText: fallback,
    parse(raw) {
      const value = raw === undefined || raw === '' ? fallback : raw
      if (!(values as readonly string[]).includes(value)) throw new FieldProblem(`must be one of ${values.join(', ')}`)
      return value as T
    },
  }
}

export function text(env: string, fallback: string, doc: string): Field<string> {
  return {
    env,
    doc,
    defaultText: fallback === '' ? '(none)' : fallback,
    parse: (raw) => (raw === undefined || raw === '' ? fallback : raw),
  }
}

export function secret(env: string, doc: string): Field<string | null> {
  return { env, doc, defaultText: '(none)', fromFile: true, parse: (raw) => (raw === undefined || raw === '' ? null : raw) }
}
