
set edit:completion:arg-completer[regcred] = { |@words|
    var index = (count $words)
    set index = (- $index 1)

    put (env _CLAP_IFS="\n" _CLAP_COMPLETE_INDEX=(to-string $index) REGCRED_COMPLETE="elvish" regcred -- $@words) | to-lines
}

