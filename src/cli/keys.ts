import { parseArgs } from 'node:util'
import { CliError, type CommandContext } from './context.js'
import { singlePositional, table, type CommandResult } from './output.js'

const iso = (seconds: number | null): string => (seconds === null ? '' : new Date(seconds * 1000).toISOString())

export async function keysCommand(context: CommandContext, action: string | undefined, args: string[]): Promise<CommandResult> {
  switch (action) {
    case 'list': {
      parseArgs({ args, options: {} })
      const keys = await context.withDeps((deps) => deps.keys.list())
      const listed = keys.map((k) => ({ kid: k.kid, state: k.state, alg: k.alg, created_at: k.createdAt, activated_at: k.activatedAt, retires_at: k.retiresAt }))
      return {
        json: { keys: listed },
        text: table([['KID', 'STATE', 'ALG', 'CREATED', 'ACTIVATED', 'RETIRES'], ...keys.map((k) => [k.kid, k.state, k.alg, iso(k.createdAt), iso(k.activatedAt), iso(k.retiresAt)])]),
      }
    }
    case 'rotate': {
      parseArgs({ args, options: {} })
      const { outcome, maxAge } = await context.withDeps(async (deps) => ({ outcome: await deps.keys.rotate(), maxAge: deps.config.jwksMaxAge }))
      const published = outcome.promotedPublishedSeconds
      const warning =
        published === null
          ? 'no next key was waiting: the new signing key was published just now'
          : published < maxAge
            ? `the promoted key was published ${published}s ago, less than the JWKS max-age (${maxAge}s): resource servers that refetch the JWKS on an unknown kid are fine; ones that never refetch may reject new tokens until their cache expires`
            : null
      return {
        json: { active_kid: outcome.activeKid, ...(warning !== null ? { warning } : {}) },
        text: [`Rotated: ${outcome.activeKid} now signs; the previous key stays published until its tokens expire.`, ...(warning !== null ? [`Note: ${warning}.`] : [])].join('\n'),
      }
    }
    case 'revoke': {
      const kid = singlePositional(args)
      if (kid === undefined) throw new CliError('usage: idp keys revoke KID')
      const { changes, activeKid } = await context.withDeps(async (deps) => {
        const changes = await deps.keys.revoke(kid)
        return { changes, activeKid: deps.keys.signingKey().kid }
      })
      if (changes.length === 0) throw new CliError(`no published key with kid ${kid}`)
      return { json: { revoked: kid, active_kid: activeKid }, text: `Key ${kid} revoked and removed from the JWKS; ${activeKid} signs now. Tokens signed by ${kid} no longer verify.` }
    }
    default:
      throw new CliError('usage: idp keys list|rotate|revoke …')
  }
}
