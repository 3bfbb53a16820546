from ccaas_emulator.cli import main

main()
