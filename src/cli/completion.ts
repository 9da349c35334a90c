/**
 * `completion bash|zsh|fish`: shell completion scripts, generated from the option table, so they complete
 * exactly the commands and options the parser accepts (and the values of options with a fixed set).
 *
 * @module
 */

import { TOOL_NAME } from "../version.ts";
import { COMMAND_TABLE, type CommandName, type CommandSpec, optionsOf, type OptionSpec } from "./options.ts";

type Shell = "bash" | "zsh" | "fish";

const commands = () => Object.entries(COMMAND_TABLE) as [CommandName, CommandSpec][];
const words = (o: OptionSpec) => [`--${o.name}`, ...(o.short ? [`-${o.short}`] : [])];
const fn = `_${TOOL_NAME}`;

function bash(): string {
  const names = commands().flatMap(([n, s]) => [n, ...s.aliases]).join(" ");
  // Options before the command name whose value must be skipped to find the command.
  const valued = [
    ...new Set(commands().flatMap(([n]) => optionsOf(n).filter((o) => o.value).flatMap(words))),
  ];
  const cases = commands().map(([name, spec]) => {
    const opts = optionsOf(name).flatMap((o) => [
      ...words(o),
      ...(o.value === undefined && o.default === true ? [`--no-${o.name}`] : []),
    ]);
    const values = optionsOf(name).filter((o) => o.value !== undefined).map((o) => {
      const action = o.choices
        ? `COMPREPLY=($(compgen -W "${o.choices.join(" ")}" -- "$cur"))`
        : o.complete === "directory"
        ? `COMPREPLY=($(compgen -d -- "$cur"))`
        : o.complete === "file"
        ? `COMPREPLY=($(compgen -f -- "$cur"))`
        : "COMPREPLY=()";
      return `        ${words(o).join("|")}) ${action}; return ;;`;
    });
    const arg = spec.argument
      ? `      COMPREPLY=($(compgen -W "${spec.argument.choices.join(" ")}" -- "$cur"))\n`
      : "";
    return [
      `    ${[name, ...spec.aliases].join("|")})`,
      `      case "$prev" in`,
      ...values,
      `      esac`,
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${
        opts.join(" ")
      } --help" -- "$cur")); return; fi`,
      arg + `      ;;`,
    ].join("\n");
  }).join("\n");
  return `# bash completion for ${TOOL_NAME}; install: source <(${TOOL_NAME} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in ${
    valued.join("|")
  }) ((i++)) ;; -*) ;; *) cmd="\${COMP_WORDS[i]}"; break ;; esac
  done
  case "$cmd" in
    "") COMPREPLY=($(compgen -W "${names} help --help --version" -- "$cur")) ;;
${cases}
  esac
}
complete -o default -F ${fn} ${TOOL_NAME}
`;
}

function zsh(): string {
  const q = (s: string) => s.replace(/'/g, "'\\''").replace(/[[\]:]/g, "\\$&");
  const list = commands().map(([n, s]) => `    '${n}:${q(s.description)}'`).join("\n");
  const cases = commands().map(([name, spec]) => {
    const specs = optionsOf(name).map((o) => {
      const action = o.choices
        ? `:${o.value}:(${o.choices.join(" ")})`
        : o.complete === "directory"
        ? `:${o.value}:_directories`
        : o.complete === "file"
        ? `:${o.value}:_files`
        : o.value !== undefined
        ? `:${o.value}: `
        : "";
      const repeat = o.repeatable ? "*" : "";
      const flags = words(o);
      const head = flags.length > 1 && !o.repeatable ? `(${flags.join(" ")})'{${flags.join(",")}}'` : "";
      return head
        ? `        ${head}'[${q(o.description)}]${action}'`
        : flags.map((f) => `        '${repeat}${f}[${q(o.description)}]${action}'`).join(" \\\n");
    });
    if (spec.argument) specs.push(`        '1:${spec.argument.name}:(${spec.argument.choices.join(" ")})'`);
    return `    ${[name, ...spec.aliases].join("|")})\n      _arguments \\\n${specs.join(" \\\n")}\n      ;;`;
  }).join("\n");
  return `#compdef ${TOOL_NAME}
# zsh completion for ${TOOL_NAME}; install: ${TOOL_NAME} completion zsh > "\${fpath[1]}/_${TOOL_NAME}"
${fn}() {
  local -a commands
  commands=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  local cmd="\${words[2]}"
  shift words; (( CURRENT-- ))
  case "$cmd" in
${cases}
  esac
}
compdef ${fn} ${TOOL_NAME}
`;
}

function fish(): string {
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const lines = [
    `# fish completion for ${TOOL_NAME}; install: ${TOOL_NAME} completion fish > ~/.config/fish/completions/${TOOL_NAME}.fish`,
    `complete -c ${TOOL_NAME} -f`,
  ];
  const all = commands().flatMap(([n, s]) => [n, ...s.aliases]).join(" ");
  for (const [name, spec] of commands()) {
    lines.push(
      `complete -c ${TOOL_NAME} -n "not __fish_seen_subcommand_from ${all}" -a ${name} -d ${
        q(spec.description)
      }`,
    );
    const seen = `__fish_seen_subcommand_from ${[name, ...spec.aliases].join(" ")}`;
    for (const o of optionsOf(name)) {
      const parts = [`complete -c ${TOOL_NAME} -n "${seen}" -l ${o.name}`];
      if (o.short) parts.push(`-s ${o.short}`);
      if (o.value !== undefined) parts.push("-r");
      if (o.choices) parts.push(`-a "${o.choices.join(" ")}"`);
      else if (o.complete) parts.push("-F");
      parts.push(`-d ${q(o.description)}`);
      lines.push(parts.join(" "));
      if (o.value === undefined && o.default === true) {
        lines.push(
          `complete -c ${TOOL_NAME} -n "${seen}" -l no-${o.name} -d ${q(`do not: ${o.description}`)}`,
        );
      }
    }
    if (spec.argument) {
      lines.push(`complete -c ${TOOL_NAME} -n "${seen}" -a "${spec.argument.choices.join(" ")}"`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The completion script for `shell`.
 *
 * @example
 * ```ts
 * completionScript("bash"); // "# bash completion for ecrimagemetadataextractor; ..."
 * ```
 */
export function completionScript(shell: Shell): string {
  return shell === "bash" ? bash() : shell === "zsh" ? zsh() : fish();
}
