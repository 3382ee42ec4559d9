/** Messages between the server and its password-hashing process (hasher-process.ts). */
import type { Argon2Parameters } from './password-hasher.js'

export type HasherCall =
  | { readonly op: 'hash'; readonly password: string; readonly parameters: Argon2Parameters }
  | { readonly op: 'verify'; readonly password: string; readonly hash: string }

export type HasherRequest = HasherCall & { readonly id: number }

export type HasherReply =
  | { readonly id: number; readonly ok: true; readonly value: string | boolean }
  | { readonly id: number; readonly ok: false; readonly error: string }
