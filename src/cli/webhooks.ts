import type { Command } from 'commander'
import { CLI_ACTOR } from '../model/actor.js'
import type { Webhook } from '../model/webhook.js'
import { WEBHOOK_EVENTS } from '../webhooks/catalogue.js'
import { addWebhook, removeWebhook, setWebhookEnabled, WebhookProblem } from '../webhooks/registry.js'
import { examples, nonEmpty, repeatable } from './arguments.js'
import { CliError, type CommandContext, type RunCommand } from './context.js'
import { table, type CommandResult } from './output.js'

/** What `list` and `add` show: never the secret (it is printed once, by `add`). */
const describeWebhook = (webhook: Webhook) => ({
  id: webhook.id,
  url: webhook.url,
  events: webhook.events,
  enabled: webhook.disabledAt === null,
  created_at: webhook.createdAt,
})

/** The service's rule violations are one CLI line each. */
const asCliError = (error: unknown): never => {
  throw error instanceof WebhookProblem ? new CliError(error.message) : error
}

interface AddOptions {
  readonly url?: string
  readonly event?: string[]
}

async function addCommand(context: CommandContext, options: AddOptions): Promise<CommandResult> {
  if (options.url === undefined) throw new CliError('--url is required')
  const input = { url: options.url, events: options.event ?? [] }
  const { webhook, secret } = await context.withDeps((deps) => addWebhook(deps, input, CLI_ACTOR)).catch(asCliError)
  return {
    json: { ...describeWebhook(webhook), secret },
    text: [
      `Webhook ${webhook.id} added: ${webhook.events.join(', ')} → ${webhook.url}`,
      `Signing secret (shown once; Standard Webhooks, verify webhook-signature with it): ${secret}`,
    ].join('\n'),
  }
}

async function listCommand(context: CommandContext): Promise<CommandResult> {
  const webhooks = await context.withDeps((deps) => deps.repos.webhooks.list())
  const rows = [
    ['ID', 'URL', 'EVENTS', 'ENABLED'],
    ...webhooks.map((webhook) => [webhook.id, webhook.url, webhook.events.join(' '), webhook.disabledAt === null ? 'yes' : 'no']),
  ]
  return {
    json: { webhooks: webhooks.map(describeWebhook) },
    text: webhooks.length === 0 ? 'No webhooks yet.' : table(rows),
  }
}

async function removeCommand(context: CommandContext, id: string): Promise<CommandResult> {
  const webhook = await context.withDeps((deps) => removeWebhook(deps, id, CLI_ACTOR)).catch(asCliError)
  return { json: { removed: webhook.id }, text: `Webhook ${webhook.id} removed; deliveries still queued for it are dropped.` }
}

async function enableCommand(context: CommandContext, id: string, enabled: boolean): Promise<CommandResult> {
  const webhook = await context.withDeps((deps) => setWebhookEnabled(deps, id, enabled, CLI_ACTOR)).catch(asCliError)
  return {
    json: { id: webhook.id, enabled },
    text: enabled ? `Webhook ${webhook.id} enabled.` : `Webhook ${webhook.id} disabled: no events go to it until enabled.`,
  }
}

/** `idp webhooks add|list|remove|disable|enable`. */
export function registerWebhooksCommands(program: Command, run: RunCommand): void {
  const webhooks = program.command('webhooks').description('event webhooks: security and lifecycle events POSTed to your URLs, signed')

  webhooks
    .command('add')
    .description('add a webhook; prints its signing secret once')
    .option('--url <url>', 'where events are POSTed (https; http only on a loopback host while ISSUER is on localhost)')
    .option('--event <event>', 'an event type, a category like user.*, or *; repeatable (at least one)', repeatable)
    .addHelpText(
      'after',
      [
        '',
        'Events:',
        ...Object.entries(WEBHOOK_EVENTS).map(([type, meaning]) => `  ${type.padEnd(30)} ${meaning}`),
        examples(
          'idp webhooks add --url https://hooks.example.com/tessera --event user.created --event login.failed',
          'idp webhooks add --url https://siem.example.com/in --event "security.*" --event "login.*" --json',
        ),
      ].join('\n'),
    )
    .action((options: AddOptions) => run((context) => addCommand(context, options)))

  webhooks
    .command('list')
    .description('list the webhooks (never their secrets)')
    .action(() => run(listCommand))

  webhooks
    .command('remove')
    .description('delete a webhook')
    .argument('<id>', 'the webhook id', nonEmpty)
    .action((id: string) => run((context) => removeCommand(context, id)))

  webhooks
    .command('disable')
    .description('stop sending events to a webhook')
    .argument('<id>', 'the webhook id', nonEmpty)
    .action((id: string) => run((context) => enableCommand(context, id, false)))

  webhooks
    .command('enable')
    .description('send events to a disabled webhook again')
    .argument('<id>', 'the webhook id', nonEmpty)
    .action((id: string) => run((context) => enableCommand(context, id, true)))
}
