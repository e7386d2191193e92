from kavka.cli.main import main

main()
