import { setTimeout } from 'node:timers/promises'
import type { Command } from 'commander'
import type { Deps } from '../deps.js'
import { CLI_ACTOR } from '../model/actor.js'
import {
  KeyPromotionTooEarly,
  listSigningKeys,
  revokeSigningKey,
  rotateSigningKeys,
  UnknownSigningKey,
  type KeyRotation,
} from '../keys/operations.js'
import { examples, nonEmpty } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

const iso = (seconds: number | null): string => (seconds === null ? '' : new Date(seconds * 1000).toISOString())

/**
 * Routine rotation: waits (saying so on stderr) until the next key has been published for
 * KEY_REFRESH_INTERVAL + CLOCK_SKEW, so that no instance signs with a key another instance does
 * not publish yet; `immediately` (--now) skips the wait in an emergency.
 */
async function rotateWhenPublished(context: CommandContext, deps: Deps, immediately: boolean): Promise<KeyRotation> {
  for (;;) {
    try {
      return await rotateSigningKeys(deps, { immediately, actor: CLI_ACTOR })
    } catch (error) {
      if (!(error instanceof KeyPromotionTooEarly)) throw error
      const minAge = deps.config.keyRefreshInterval + deps.config.clockSkew
      context.io.stderr(
        `idp: waiting ${error.waitSeconds}s: the next key ${error.kid} signs only once it has been published for KEY_REFRESH_INTERVAL + CLOCK_SKEW (${minAge}s), so every instance serves it first. --now skips the wait (emergencies only).`,
      )
      await setTimeout(error.waitSeconds * 1000)
    }
  }
}

async function listKeys(context: CommandContext): Promise<CommandResult> {
  const keys = await context.withDeps((deps) => listSigningKeys(deps))
  const listed = keys.map((k) => ({
    kid: k.kid,
    state: k.state,
    alg: k.alg,
    created_at: k.createdAt,
    activated_at: k.activatedAt,
    retires_at: k.retiresAt,
  }))
  return {
    json: { keys: listed },
    text: table([
      ['KID', 'STATE', 'ALG', 'CREATED', 'ACTIVATED', 'RETIRES'],
      ...keys.map((k) => [k.kid, k.state, k.alg, iso(k.createdAt), iso(k.activatedAt), iso(k.retiresAt)]),
    ]),
  }
}

async function rotateKeys(context: CommandContext, now: boolean): Promise<CommandResult> {
  const outcome = await context.withDeps((deps) => rotateWhenPublished(context, deps, now))
  const { warning } = outcome
  return {
    json: { active_kid: outcome.activeKid, ...(warning !== null ? { warning } : {}) },
    text: [
      `Rotated: ${outcome.activeKid} now signs; the previous key stays published until its tokens expire.`,
      ...(warning !== null ? [`Note: ${warning}.`] : []),
    ].join('\n'),
  }
}

async function revokeKey(context: CommandContext, kid: string): Promise<CommandResult> {
  const { activeKid } = await context
    .withDeps((deps) => revokeSigningKey(deps, kid, CLI_ACTOR))
    .catch((error: unknown) => {
      throw error instanceof UnknownSigningKey ? new CliError(error.message) : error
    })
  return {
    json: { revoked: kid, active_kid: activeKid },
    text: `Key ${kid} revoked and removed from the JWKS; ${activeKid} signs now. Tokens signed by ${kid} no longer verify.`,
  }
}

/** `idp keys list|rotate|revoke`. */
export function registerKeysCommands(program: Command, run: RunCommand): void {
  const keys = program.command('keys').description('signing keys: list, rotate, revoke')

  keys
    .command('list')
    .description('kid, state, alg and times of every key (no private material)')
    .action(() => run(listKeys))

  keys
    .command('rotate')
    .description('routine rotation: the next key signs once published for KEY_REFRESH_INTERVAL + CLOCK_SKEW (waits until then)')
    .option('--now', 'promote without waiting (emergencies only)')
    .addHelpText('after', examples('idp keys rotate', 'idp keys rotate --now --json'))
    .action((options: { readonly now?: boolean }) => run((context) => rotateKeys(context, options.now === true)))

  keys
    .command('revoke')
    .description('break-glass: withdraw a compromised key from the JWKS at once; its tokens no longer verify')
    .argument('<kid>', 'the key id from idp keys list (taken as is, even when it begins with "-")', nonEmpty)
    .allowUnknownOption()
    .addHelpText('after', examples('idp keys revoke 3kTq8w2Lr0bN5yHc7dVf1xZp9sJm4uAe6gQi0oKtRlY', 'idp keys revoke -- -Nq8xV2c'))
    .action((kid: string) => run((context) => revokeKey(context, kid)))
}
