from listd.cli.main import main

main()
