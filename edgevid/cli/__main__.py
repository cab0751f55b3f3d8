from edgevid.cli import main

main()
