from mobench.cli import main

raise SystemExit(main())
