print("sae-bench")
