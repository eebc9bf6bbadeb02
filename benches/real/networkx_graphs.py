"""Real program: graph algorithms with networkx on seeded random graphs: shortest paths,
betweenness centrality, connected and strongly connected components, minimum spanning tree,
maximum flow, cliques. Prints a summary of each result."""
import sys

import networkx as nx

N = int(sys.argv[1]) if len(sys.argv) > 1 else 400
g = nx.gnm_random_graph(N, N * 4, seed=1)
for u, v in g.edges:
    g.edges[u, v]["weight"] = (u * 7 + v * 13) % 17 + 1
    g.edges[u, v]["capacity"] = (u + v) % 9 + 1
lengths = dict(nx.all_pairs_dijkstra_path_length(g))
print(sum(sum(d.values()) for d in lengths.values()))
bc = nx.betweenness_centrality(g, k=min(N, 150), seed=3)
print(round(max(bc.values()), 9))
print(len(list(nx.connected_components(g))))
mst = nx.minimum_spanning_tree(g)
print(mst.size(weight="weight"))
print(nx.maximum_flow_value(g, 0, N - 1))
print(max(len(c) for c in nx.find_cliques(g)))
d = nx.gnp_random_graph(N, 0.01, seed=2, directed=True)
print(len(list(nx.strongly_connected_components(d))))
print(nx.diameter(max((g.subgraph(c) for c in nx.connected_components(g)), key=len)))
