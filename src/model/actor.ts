/**
 * Who performs an operator action, whichever surface it came through: the `idp` CLI (whoever runs
 * it on the host), an OAuth client of the admin API, or a signed-in user of the admin console.
 * Every such action is an audit event whose detail names the actor (`detail.actor`).
 */
export type Actor =
  { readonly kind: 'cli' } | { readonly kind: 'client'; readonly clientId: string } | { readonly kind: 'user'; readonly userId: string }

/** The CLI actor (there is only one: the operator on the host). */
export const CLI_ACTOR: Actor = { kind: 'cli' }

/** The actor as stored in audit details: `cli`, `client:ID` or `user:ID`. */
export function actorLabel(actor: Actor): string {
  switch (actor.kind) {
    case 'cli':
      return 'cli'
    case 'client':
      return `client:${actor.clientId}`
    case 'user':
      return `user:${actor.userId}`
  }
}
