import { Argument, type Command, type Option } from 'commander';
import { contextOf } from '../context.ts';

/** The long options of a command, and which of them take a value. */
function optionsOf(command: Command): { all: string[]; valued: string[] } {
  const options = command.options.filter((o) => o.long && !o.hidden);
  return {
    all: options.map((o) => o.long as string),
    valued: options.filter((o) => o.required || o.optional).map((o) => o.long as string),
  };
}

/**
 * A bash completion script for the program as built: command names, each command's options, the values of
 * options with choices, and rule ids after `--rule` (read from `jit rules --json` as you type, so they
 * follow the broker's config and your identity).
 */
export function bashCompletion(program: Command): string {
  const root = optionsOf(program);
  const commands = program.commands.filter((c) => c.name() !== 'help');
  const valued = new Set(root.valued);
  const cases = commands.map((c) => {
    const own = optionsOf(c);
    for (const v of own.valued) valued.add(v);
    return `    ${c.name()}) opts="${[...own.all, ...root.all, '--help'].join(' ')}" ;;`;
  });
  // One case per option name: several commands share one (--kind of request and break-glass).
  const choices = [
    ...new Set(
      [...commands, program].flatMap((c) =>
        c.options
          .filter((o: Option) => o.argChoices?.length)
          .map(
            (o: Option) =>
              `    ${o.long}) COMPREPLY=($(compgen -W "${o.argChoices?.join(' ')}" -- "$cur")); return ;;`,
          ),
      ),
    ),
  ];
  return `# jit completion for bash. Load it with:  source <(jit completion bash)
_jit_rule_ids() {
  # Rule ids from "jit rules --json", with the options typed so far (--api, --local, --as ...).
  "\${COMP_WORDS[0]}" "\${_jit_global[@]}" rules --json 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{try{for(const r of JSON.parse(s).rules)console.log(r.id)}catch{}})' 2>/dev/null
}
_jit() {
  local cur prev cmd="" i word opts
  local -a _jit_global=()
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    case "$word" in
      ${[...valued].sort().join('|')})
        case "$word" in ${root.valued.join('|')}) _jit_global+=("$word" "\${COMP_WORDS[i+1]}") ;; esac
        ((i++)) ;;
      ${root.all.filter((o) => !root.valued.includes(o)).join('|')}) _jit_global+=("$word") ;;
      -*) ;;
      *) [[ -z $cmd ]] && cmd="$word" ;;
    esac
  done
  case "$prev" in
    --rule) COMPREPLY=($(compgen -W "$(_jit_rule_ids)" -- "$cur")); return ;;
${choices.join('\n')}
    --file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
  esac
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "${[...commands.map((c) => c.name()), ...root.all, '--help', '--version'].join(' ')}" -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join('\n')}
    completion) opts="bash zsh" ;;
    *) opts="" ;;
  esac
  COMPREPLY=($(compgen -W "$opts" -- "$cur"))
}
complete -o default -F _jit jit
`;
}

/** `jit completion bash|zsh`. */
export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (commands, options, rule ids)')
    .addArgument(new Argument('<shell>', 'bash or zsh').choices(['bash', 'zsh']))
    .addHelpText(
      'after',
      `
Examples:
  $ source <(jit completion bash)            # in ~/.bashrc
  $ source <(jit completion zsh)             # in ~/.zshrc`,
    )
    .action((shell: 'bash' | 'zsh', _flags: unknown, command: Command) => {
      const { out } = contextOf(command);
      const script = bashCompletion(program);
      // zsh runs the bash script through its bash-completion emulation.
      const text =
        shell === 'zsh'
          ? `# jit completion for zsh. Load it with:  source <(jit completion zsh)\nautoload -U +X compinit && compinit\nautoload -U +X bashcompinit && bashcompinit\n${script}`
          : script;
      out.stdout.write(text);
    });
}
