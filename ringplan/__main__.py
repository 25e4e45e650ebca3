from ringplan.cli import main

raise SystemExit(main())
