# The bytes a backend uses in its memory contexts, from the lines that
# pg_log_backend_memory_contexts() logs for it (stdin): the "Grand total"
# less what the contexts reset or emptied every iteration or transaction
# hold (a worker's loop or tick context, TopTransactionContext,
# TopPortalContext, ErrorContext, and their children): whatever they hold at
# the instant of the sample (a batch in flight) is not growth, and nothing
# can pile up in them.  Used by test/test_memory.sh and bench/soak.sh.
/ level: [0-9]+; / {
	level = $0; sub(/.* level: /, "", level); sub(/;.*/, "", level)
	used = $0; sub(/ used.*/, "", used); sub(/.* /, "", used)
	if (level == 1)
		skip = ($0 ~ /level: 1; (camera_health [a-z]+ (loop|tick)|TopTransactionContext|TopPortalContext|ErrorContext):/)
	if (skip && level >= 1)
		transient += used
}
/Grand total: / {
	total = $0; sub(/ used.*/, "", total); sub(/.* /, "", total)
	print total - transient
	exit
}
