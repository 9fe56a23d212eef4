from qa_service.cli import main

main()
