"""Run the onboard CLI from a checkout: ``python cli.py plan examples/terse-bullets.md``."""

from onboard_llm.cli import main

if __name__ == "__main__":
    main()
