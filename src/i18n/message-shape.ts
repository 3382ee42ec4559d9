/** What a message needs from the page: its placeholder and tag names (ICU, plural and select branches included). */
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser'

/** `{name}` for each value and `<tag>` for each tag, sorted; throws when the message is not valid ICU. */
export function messageShape(message: string): string[] {
  const names = new Set<string>()
  const walk = (elements: MessageFormatElement[]) => {
    for (const element of elements) {
      if (element.type === TYPE.argument || element.type === TYPE.number || element.type === TYPE.date || element.type === TYPE.time)
        names.add(`{${element.value}}`)
      if (element.type === TYPE.plural || element.type === TYPE.select) {
        names.add(`{${element.value}}`)
        for (const option of Object.values(element.options)) walk(option.value)
      }
      if (element.type === TYPE.tag) {
        names.add(`<${element.value}>`)
        walk(element.children)
      }
    }
  }
  walk(parse(message))
  return [...names].sort()
}
