from bench.soak import main

main()
