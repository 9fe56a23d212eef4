from qa_service.cli.commands import main

main()
