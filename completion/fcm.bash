# bash completion for fcm: commands (built-ins and fcm-* plugins on PATH),
# each command's options and subcommands, and VM names.  What may come next
# is asked of fcm itself (`fcm help --complete WORDS`, made from the command
# definitions); VM names come from `fcm ls --json`, on this host or through
# FCM_HOST like every other command.

_fcm_vms() {
	"$1" ls --json 2>/dev/null | awk -F'"name":"' 'NF > 1 { split($2, a, "\""); print a[1] }'
}

_fcm() {
	local fcm=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local line vm=0 words="" opts="" valued=" "
	COMPREPLY=()
	if [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W "$("$fcm" help --complete 2>/dev/null)" -- "$cur")
		return 0
	fi
	while IFS= read -r line; do
		case $line in
		@vm) vm=1 ;;
		--*$'\t'value) opts="$opts ${line%%$'\t'*}"; valued="$valued${line%%$'\t'*} " ;;
		--*) opts="$opts $line" ;;
		*) words="$words $line" ;;
		esac
	done < <("$fcm" help --complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)
	if [[ $valued == *" $prev "* ]]; then
		compopt -o default 2>/dev/null
		return 0
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
	elif [ -n "$words" ]; then
		mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
	elif [ "$vm" = 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_fcm_vms "$fcm")" -- "$cur")
	fi
	return 0
}
complete -F _fcm fcm
