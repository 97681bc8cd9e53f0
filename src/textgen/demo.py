"""`make demo`: a tour of the contract, read from the generated descriptors.

Until the servers and the client land, the demo lists every service and method with its
streaming kind and, for long-running methods, the response and metadata types.
"""

from __future__ import annotations

from textgen import contract


def main() -> None:
    """Print each service of the contract with its methods."""
    for service in contract.services():
        print(f"service {service.full_name}")
        for method in service.methods:
            print(f"  {contract.describe_method(method)}")
        print()


if __name__ == "__main__":
    main()
