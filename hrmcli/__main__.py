from hrmcli.cli import main

main()
