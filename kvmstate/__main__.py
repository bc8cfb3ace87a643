from kvmstate.entry import main

main()
