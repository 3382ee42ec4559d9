/** Event webhooks: where security and lifecycle events are POSTed (Standard Webhooks). */
export interface Webhook {
  readonly id: string
  readonly url: string
  /** What it subscribes to: event types (`user.created`), a category (`user.*`) or everything (`*`). */
  readonly events: readonly string[]
  /** The signing secret (`whsec_…`), sealed under a key derived from the KEK and bound to the id. */
  readonly sealedSecret: string
  readonly disabledAt: number | null
  readonly createdAt: number
}
