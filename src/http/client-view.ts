/**
 * What the sign-in and consent pages show of the application asking (issue 19): its logo (served
 * from this origin, clients/client-logo.ts), its name, the host it sends the user back to (the
 * part an impostor cannot fake: redirect URIs are registered), and its home, privacy and terms
 * pages when it registered them.
 */
import type { Deps } from '../deps.js'
import { pageLinksOf } from '../clients/registration.js'
import type { Client } from '../model/client.js'

export interface ClientView {
  readonly name: string
  readonly logoUrl: string | null
  /** The host of the redirect URI of this request; null on a page with no application to return to. */
  readonly returnHost: string | null
  readonly homeUrl: string | null
  readonly policyUrl: string | null
  readonly termsUrl: string | null
}

export async function clientView(deps: Pick<Deps, 'clientLogos'>, client: Client, redirectUri: string | null): Promise<ClientView> {
  const links = pageLinksOf(client)
  return {
    name: client.name,
    logoUrl: await deps.clientLogos.urlFor(client),
    returnHost: redirectUri === null ? null : new URL(redirectUri).host,
    homeUrl: links.client_uri,
    policyUrl: links.policy_uri,
    termsUrl: links.tos_uri,
  }
}
