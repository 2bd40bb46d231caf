from coldbrew.cli.main import main

main()
