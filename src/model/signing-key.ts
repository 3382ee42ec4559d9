/** A signing key's place in its lifecycle (keys/rotation.ts has the rules that move it). */
export type KeyState = 'next' | 'active' | 'retired' | 'revoked' | 'archived'

export interface KeyRecord {
  readonly kid: string
  readonly state: KeyState
  readonly createdAt: number
  readonly activatedAt: number | null
  readonly retiredAt: number | null
  readonly retiresAt: number | null
}

/** One change to apply to the store; `create` asks for a freshly generated key in that state. */
export type KeyChange =
  | { readonly type: 'create'; readonly state: 'active' | 'next' }
  | { readonly type: 'activate'; readonly kid: string }
  | { readonly type: 'retire'; readonly kid: string; readonly retiresAt: number }
  | { readonly type: 'revoke'; readonly kid: string }
  | { readonly type: 'remove'; readonly kid: string; readonly mode: 'delete' | 'archive' }
