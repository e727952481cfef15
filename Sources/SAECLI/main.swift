print("sae")
