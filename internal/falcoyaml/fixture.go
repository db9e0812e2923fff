package falcoyaml

// DockerPluginYAML is a falco.yaml that declares and loads the docker
// plugin, with the given init_config lines spliced in (indented by four
// spaces, each ending in a newline; "" for none): the document the tests of
// the conversion, here and in the plugin, feed to InitConfigJSON.
func DockerPluginYAML(initConfig string) []byte {
	return []byte("plugins:\n" +
		"  - name: docker\n" +
		"    library_path: /usr/share/falco/plugins/libdocker.so\n" +
		initConfig +
		"    open_params: \"\"\n" +
		"load_plugins: [docker]\n")
}
