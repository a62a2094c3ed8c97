complete --keep-order --exclusive --command regcred --arguments "(REGCRED_COMPLETE=fish regcred -- (commandline --current-process --tokenize --cut-at-cursor) (commandline --current-token))"
