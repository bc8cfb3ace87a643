from kvmstate.cli import main

main()
